with

source as (

    select * from {{ source('raw', 'stores') }}

),

renamed as (

    select

        ----------  ids
        store_id,

        ----------  text
        store_name,
        region,
        city,

        ----------  dates
        opened_date

    from source

)

select * from renamed
