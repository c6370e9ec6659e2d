with

source as (

    select * from {{ source('raw', 'holidays') }}

),

renamed as (

    select
        week_start,
        holiday
    from source

)

select * from renamed
